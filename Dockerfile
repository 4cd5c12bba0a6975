# syntax=docker/dockerfile:1
# Build: docker build -t infodesk .
# Run:   docker run -p 8000:8000 -e INFODESK_ENV=production \
#          -e INFODESK_DATABASE_URL=postgresql+psycopg://user:pass@db/infodesk \
#          -e INFODESK_JWT_JWKS_URL=https://sso.example/jwks infodesk

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY requirements.lock pyproject.toml README.md ./
RUN /opt/venv/bin/pip install -r requirements.lock
COPY app ./app
RUN /opt/venv/bin/pip install --no-deps .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    INFODESK_ENV=production \
    INFODESK_DATABASE_URL=sqlite:////data/infodesk.db
RUN groupadd --system infodesk && useradd --system --gid infodesk --home /srv/infodesk infodesk \
    && mkdir -p /data /srv/infodesk && chown infodesk:infodesk /data /srv/infodesk
WORKDIR /srv/infodesk
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY alembic ./alembic
USER infodesk
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
ENTRYPOINT ["infodesk", "serve", "--host", "0.0.0.0", "--port", "8000"]
