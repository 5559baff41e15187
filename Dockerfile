# syntax=docker/dockerfile:1
# coalition-bot as a container (README: "Run it as a service"): dependencies from the lock file in
# a layer of their own (a code change reinstalls nothing), a build stage and a slim run stage, a user
# without privileges, the data folder as a volume, and Docker's HEALTHCHECK on /readyz at HTTP_PORT.
# The base image is pinned; bump it (and requirements.lock) deliberately.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot bot
COPY commands commands
COPY adapters adapters
COPY storage storage
RUN pip install --no-deps .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    COALITION_DATA_DIR=/data \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080
RUN useradd --create-home --uid 10001 coalition && mkdir /data && chown coalition:coalition /data && chmod 0700 /data
COPY --from=build /opt/venv /opt/venv
USER coalition
VOLUME ["/data"]
EXPOSE 8080
# SIGTERM: the bot refuses new work, finishes what it acknowledged (STOP_GRACE_SECONDS), then exits.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('HTTP_PORT', '8080'), timeout=4).status != 200)"]

CMD ["coalition-bot", "run"]
