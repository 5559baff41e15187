# coalition-bot as a container: a slim Python, a user without privileges, the data folder as a volume,
# and Docker's HEALTHCHECK on the bot's own /healthz. README: "Run it as a service".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    COALITION_DATA_DIR=/data \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080

RUN useradd --create-home --uid 10001 coalition && mkdir /data && chown coalition:coalition /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY commands commands
COPY adapters adapters
COPY storage storage
RUN pip install --no-cache-dir .

USER coalition
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"

CMD ["coalition-bot", "run"]
