# StoryBot: slim Python, no system ffmpeg or espeak (both ship inside Python wheels).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    STORYBOT_DATA_DIR=/data

RUN useradd --create-home --uid 10001 storybot && mkdir /data && chown storybot /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY bot ./bot
RUN pip install .

USER storybot
VOLUME ["/data"]
# The HTTP API, when STORYBOT_HTTP_PORT=8080 (with STORYBOT_HTTP_HOST=0.0.0.0 and tokens).
EXPOSE 8080
WORKDIR /data
ENTRYPOINT ["storybot"]
CMD ["run"]
