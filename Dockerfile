# Gatehouse container image: a static binary on scratch, non-root, SQLite under /data.
# It copies a prebuilt binary (as GoReleaser's dockers do), so no builder image is pulled:
#   CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o gatehouse ./cmd/gatehouse
#   podman build -t gatehouse .        (or: buildah bud, docker build)
#   podman run -v gatehouse-data:/data -p 8080:8080 gatehouse
# The binary carries fallback CA roots (cmd/gatehouse/roots.go) for HTTPS JWKS fetches.
FROM scratch
COPY gatehouse /usr/bin/gatehouse
USER 65532:65532
# Created by WORKDIR after USER, so owned by 65532: a fresh volume mounted here is writable.
WORKDIR /data
VOLUME /data
ENV GATEHOUSE_DB=/data/gatehouse.db \
    GATEHOUSE_LISTEN=:8080 \
    GATEHOUSE_ADMIN_LISTEN=:8181 \
    GATEHOUSE_FORWARD_AUTH_LISTEN=:8182 \
    GATEHOUSE_IDP_LISTEN=:9229 \
    GATEHOUSE_HEALTH_LISTEN=:8282 \
    GATEHOUSE_LOG_FORMAT=json
EXPOSE 8080 8181 8182 8282 9229
ENTRYPOINT ["/usr/bin/gatehouse"]
CMD ["serve"]
