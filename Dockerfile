# The service, lean: `docker build -t recsvc .` installs the service's dependencies only (no trainer).
# The trainer: `docker build --target trainer -t recsvc-trainer .` adds the train extra
# (implicit, scipy, pyarrow), then `docker run recsvc-trainer recsvc train --events ...`.
#
# Dependencies come from pyproject.toml alone and sit in their own layers, so a code change rebuilds
# only the small wheel of recsvc and its install (`pip install --no-deps`).

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OPENBLAS_NUM_THREADS=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 recsvc
WORKDIR /app
COPY pyproject.toml ./
# requirements.txt of the base dependencies plus the named extras, read from pyproject.toml
RUN printf '%s\n' \
        'import sys, tomllib' \
        'project = tomllib.load(open("pyproject.toml", "rb"))["project"]' \
        'extras = project["optional-dependencies"]' \
        'print("\n".join(project["dependencies"] + [d for name in sys.argv[1:] for d in extras[name]]))' \
        > /usr/local/lib/requirements_of.py

FROM runtime AS service-deps
RUN python /usr/local/lib/requirements_of.py serve > requirements.txt && pip install -r requirements.txt

FROM service-deps AS trainer-deps
RUN python /usr/local/lib/requirements_of.py train > requirements-train.txt && pip install -r requirements-train.txt

FROM runtime AS wheel
COPY README.md ./
COPY recsvc ./recsvc
COPY training ./training
COPY cli ./cli
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM trainer-deps AS trainer
COPY --from=wheel /wheels /wheels
RUN pip install --no-deps /wheels/*.whl && rm -rf /wheels && pip check
USER 10001
WORKDIR /home/recsvc
CMD ["recsvc", "--help"]

# the default target (last): the service under granian (`recsvc serve --production`)
FROM service-deps AS service
COPY --from=wheel /wheels /wheels
RUN pip install --no-deps /wheels/*.whl && rm -rf /wheels && pip check
USER 10001
WORKDIR /home/recsvc
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"]
# one JSON line per request (with its X-Request-Id) and per log record
ENV RECSVC_LOG_FORMAT=json \
    RECSVC_ACCESS_LOG=true
# granian's WSGI workers, one per core (--workers N to change); SIGHUP restarts them gracefully
CMD ["recsvc", "serve", "--production", "--host", "0.0.0.0", "--port", "8000"]
