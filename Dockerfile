# syntax=docker/dockerfile:1
# Livecall's images: one build stage, one small runtime image per service.
#
#   docker build --target gateway      -t livecall-gateway .
#   docker build --target call-control -t livecall-call-control .
#   docker build --target ai-session   -t livecall-ai-session .
#   docker build --target context      -t livecall-context .
#
# The build stage installs the Debian packages tools/dev installs (`tools/dev deps build`, the one
# list) and builds with CMake. The runtime stage installs only the packages that own the shared
# libraries the binaries load (tools/docker/runtime-packages, ldd + dpkg), plus CA certificates for
# HTTPS to Twilio, the LLM and the CRM, and runs as an unprivileged user. (espeak-ng's voices,
# espeak-ng-data, come with libespeak-ng1 as its dependency.) Kubernetes probes are
# native (gRPC, HTTP), so nothing in the image needs a shell.

ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE} AS build
WORKDIR /src
COPY tools/dev tools/dev
RUN tools/dev deps build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIVECALL_BUILD_TESTS=OFF \
 && cmake --build /build \
 && mkdir -p /out \
 && for name in gateway call-control ai-session context; do \
      objcopy --strip-debug "/build/services/${name}/livecall-${name}" "/out/livecall-${name}"; \
    done \
 && tools/docker/runtime-packages /out/livecall-* > /out/runtime-packages.txt

FROM ${DEBIAN_IMAGE} AS runtime
COPY --from=build /out/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && xargs -a /tmp/runtime-packages.txt \
      env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && groupadd --system --gid 10001 livecall \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin livecall
# The sample customers, knowledge base and the sandbox's customer scripts (context, ai-session and
# call-control read them; Kubernetes' ConfigMap names the same paths).
COPY data/customers.json data/kb.json data/sandbox_scripts.json /usr/share/livecall/data/
ENV LIVECALL_CUSTOMERS_FILE=/usr/share/livecall/data/customers.json \
    LIVECALL_KB_FILE=/usr/share/livecall/data/kb.json \
    LIVECALL_SANDBOX_SCRIPT_FILE=/usr/share/livecall/data/sandbox_scripts.json
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

FROM runtime AS gateway
COPY --from=build /out/livecall-gateway /usr/local/bin/livecall-gateway
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/livecall-gateway"]

FROM runtime AS call-control
COPY --from=build /out/livecall-call-control /usr/local/bin/livecall-call-control
EXPOSE 50051 9090
ENTRYPOINT ["/usr/local/bin/livecall-call-control"]

FROM runtime AS ai-session
COPY --from=build /out/livecall-ai-session /usr/local/bin/livecall-ai-session
EXPOSE 50052 9090
ENTRYPOINT ["/usr/local/bin/livecall-ai-session"]

FROM runtime AS context
COPY --from=build /out/livecall-context /usr/local/bin/livecall-context
EXPOSE 50053 9090
ENTRYPOINT ["/usr/local/bin/livecall-context"]
