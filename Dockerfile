# Baton's service image: the wheel, installed in a slim Python, run as a user with no shell.
#   docker build -t baton .
#   docker run -p 8600:8600 -e BATON_DATABASE_URL=postgresql://… -e BATON_API_KEYS=… baton
# `baton serve` is the entry point; the same image runs the other jobs by its command:
#   docker run baton worker     docker run baton sync     docker run baton db upgrade
# deploy/compose.yaml, deploy/kubernetes/ and docs/deploy.md show them together.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core core
COPY connectors connectors
COPY webhooks webhooks
COPY sandbox sandbox
COPY mappings mappings
COPY examples examples
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /var/lib/baton --create-home --shell /usr/sbin/nologin baton
USER 10001
WORKDIR /var/lib/baton
EXPOSE 8600
# /healthz answers 200 when the database answers; slim images have no curl, Python has urllib.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8600/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["baton"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8600", "--no-worker"]
