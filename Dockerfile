# syntax=docker/dockerfile:1
# lookalike as a container: the binary (cgo, for CLIP through ONNX Runtime),
# ONNX Runtime beside it, libturbojpeg for reduced-size JPEG decoding, run as
# a non-root user with the data directory as a volume.
#   docker build -t lookalike .
#   docker run -p 8080:8080 -v lookalike-data:/data -e WEBHOOK_SECRET=… lookalike
# The build stage runs scripts/build-release, which the tests also run
# (deploy/deploy_test.go); no Docker engine was available to build this file
# itself when it was written.

FROM golang:1.26-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=
RUN VERSION=$VERSION ./scripts/build-release /out

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libturbojpeg0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin lookalike \
    && mkdir -p /data && chown lookalike:lookalike /data
COPY --from=build /out/lookalike /out/libonnxruntime.so.1 /usr/local/lib/lookalike/
RUN ln -s /usr/local/lib/lookalike/lookalike /usr/local/bin/lookalike
USER lookalike:lookalike
ENV LOOKALIKE_ADDR=:8080 \
    LOOKALIKE_DATA_DIR=/data \
    LOOKALIKE_ORT_LIB=/usr/local/lib/lookalike/libonnxruntime.so.1 \
    LOOKALIKE_SERVER=http://127.0.0.1:8080
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["lookalike", "healthcheck", "--timeout", "4s"]
ENTRYPOINT ["lookalike"]
CMD ["serve"]
