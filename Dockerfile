# sheets-kpi worker image. Build: docker build -t sheets-kpi .
# Everything the worker keeps (store, OAuth tokens, lock) lives in the /data volume; the config
# and the service-account key are mounted into it, secrets come from an env file (README,
# "Deployment: container"). Only the package is copied in (.dockerignore allowlists it).
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY pyproject.toml README.md LICENSE /src/
COPY sheets_kpi /src/sheets_kpi
RUN pip install /src && rm -rf /src

RUN groupadd --system --gid 10001 sheets-kpi \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin sheets-kpi \
    && mkdir /data && chown sheets-kpi:sheets-kpi /data
USER sheets-kpi
WORKDIR /data
VOLUME /data

# `serve` finishes its current step on SIGTERM; a step may wait up to 120 s for Google's
# quota, so give the container 150 s to stop (docker run --stop-timeout 150, or
# stop_grace_period: 150s in compose) instead of Docker's default 10 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["sheets-kpi", "--config", "/data/config.yaml"]
CMD ["serve"]
