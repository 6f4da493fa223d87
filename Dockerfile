# PAPERCLIP image: the service, the indexer and harvest jobs (extras serve, index, harvest).
# Dependencies install from the lock (requirements/image-*.txt, exported from uv.lock by
# `make lock`) in layers before the source, so a code change rebuilds only the last layers.
#   docker-compose build                      CPU: torch from PyTorch's CPU index, faiss-cpu
#   docker-compose --profile gpu build        CUDA (ACCELERATOR=gpu): torch's CUDA build and
#                                             faiss-gpu-cu12 from the lock, faiss-cpu never installed
FROM python:3.11-slim

ARG ACCELERATOR=cpu
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# The versions uv.lock pins (tests/deploy checks they agree).
ARG TORCH_VERSION=2.14.1
ARG TORCHVISION_VERSION=0.29.1
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PAPERCLIP_HOME=/data

RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/paperclip
# 1. dependencies: rebuilt only when the lock changes. The CPU file leaves torch out (pruned at
#    export) because PyPI's Linux torch is the CUDA build: it comes from the CPU index instead.
COPY requirements/image-${ACCELERATOR}.txt requirements.txt
RUN if [ "${ACCELERATOR}" = cpu ]; then \
        pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}"; \
    fi \
    && pip install --no-deps --require-hashes -r requirements.txt \
    && pip check

# 2. the source
COPY pyproject.toml README.md ./
COPY paperclip ./paperclip
COPY paperclip_cli ./paperclip_cli
COPY app ./app
COPY indexer ./indexer
COPY training ./training
COPY migrations ./migrations
RUN pip install --no-deps . && paperclip --help > /dev/null

RUN useradd --create-home --uid 10001 paperclip && mkdir -p /data && chown paperclip /data
USER paperclip
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s CMD curl -fsS http://127.0.0.1:8000/api/v1/health || exit 1
# Exec form: the server is PID 1 and gets SIGTERM itself; it drains the requests in flight and
# exits 0. Migrations are not its job: the compose `migrate` service runs `paperclip db upgrade`.
STOPSIGNAL SIGTERM
CMD ["paperclip", "serve", "--host", "0.0.0.0", "--port", "8000"]
