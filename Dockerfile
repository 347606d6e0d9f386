# Narrowcast image for a real deployment: the official Airflow image + the project's pinned lock file.
FROM apache/airflow:3.3.2-python3.11

USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
USER airflow

COPY --chown=airflow:root requirements.txt pyproject.toml README.md /opt/narrowcast/
COPY --chown=airflow:root include /opt/narrowcast/include
RUN pip install --no-cache-dir -r /opt/narrowcast/requirements.txt \
 && pip install --no-cache-dir --no-deps -e /opt/narrowcast

ENV PYTHONPATH=/opt/airflow/include \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    DO_NOT_TRACK=1 \
    SCARF_NO_ANALYTICS=true \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False
