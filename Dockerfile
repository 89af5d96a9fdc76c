# syntax=docker/dockerfile:1
# zendesk-sso-bridge: a small, shell-less, non-root image (user 65532; about 35 MB: the ~13 MB
# binary on distroless cc, which is glibc, libgcc, CA certificates and nothing else).
#   docker build -t zendesk-sso-bridge .
#   docker run --rm -p 8080:8080 zendesk-sso-bridge demo --listen 0.0.0.0:8080 --public-url http://127.0.0.1:8080
#
# Correct by construction: the build stage gets the whole tree that .dockerignore lets through
# (the same files `scripts/image-context-check` builds in CI), so a file the build needs cannot
# be forgotten here. Dependencies are cached by BuildKit cache mounts, not by a stub project.
# Base images are pinned by digest; the tag each digest was taken from is in the comment.

# rust:1.95-bookworm
FROM rust@sha256:6258907abe69656e41cd992e0b705cdcfabcbbe3db374f92ed2d47121282d4a1 AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin zendesk-sso-bridge \
    && cp target/release/zendesk-sso-bridge /zendesk-sso-bridge

# gcr.io/distroless/cc-debian12:nonroot — glibc, CA certificates (the system roots the bridge
# trusts, with SSL_CERT_FILE for a private CA) and a nonroot user, nothing else.
FROM gcr.io/distroless/cc-debian12@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f
COPY --from=build /zendesk-sso-bridge /usr/local/bin/zendesk-sso-bridge
USER 65532:65532
EXPOSE 8080 9090
ENV LISTEN_ADDR=0.0.0.0:8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["/usr/local/bin/zendesk-sso-bridge", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/zendesk-sso-bridge"]
CMD ["serve"]
