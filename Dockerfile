# The API and the Faust worker (one image, two commands), for docker-compose.yml.
# Build: docker build -t flashsale:local .
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . .
RUN pip install . \
    && useradd --create-home --uid 10001 flashsale \
    && mkdir -p /data \
    && chown flashsale /data

# Workers keep their RocksDB table stores here (a volume in docker-compose.yml).
VOLUME ["/data"]
USER flashsale
ENV FLASHSALE_DATA_DIR=/data

CMD ["flashsale-api"]
