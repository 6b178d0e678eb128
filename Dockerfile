# The service; the trainer is a command of the same image (`docker run IMAGE recsvc train ...`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OPENBLAS_NUM_THREADS=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --create-home --uid 10001 recsvc
WORKDIR /app
COPY pyproject.toml README.md ./
COPY recsvc ./recsvc
COPY training ./training
RUN pip install '.[serve]'

USER recsvc
WORKDIR /home/recsvc
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["gunicorn", "--workers", "2", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "recsvc:create_app()"]
