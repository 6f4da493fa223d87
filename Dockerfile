# PAPERCLIP service image. CPU torch by default; build with
#   --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu124
# for a CUDA image (and add the `gpu` extra for faiss-gpu).
FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG EXTRAS=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PAPERCLIP_HOME=/data

RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/paperclip
COPY pyproject.toml README.md ./
COPY paperclip ./paperclip
COPY app ./app
COPY indexer ./indexer
COPY training ./training
COPY migrations ./migrations
RUN pip install --index-url "${TORCH_INDEX_URL}" torch torchvision \
    && pip install ".${EXTRAS}"

RUN useradd --create-home --uid 10001 paperclip && mkdir -p /data && chown paperclip /data
USER paperclip
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD curl -fsS http://127.0.0.1:8000/api/v1/health || exit 1
CMD ["sh", "-c", "paperclip db upgrade && paperclip serve --host 0.0.0.0 --port 8000"]
