"""FastAPI service: REST API and browser UI for image and description retrieval."""
