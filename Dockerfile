# syntax=docker/dockerfile:1
# zendesk-sso-bridge: a small, shell-less, non-root image.
#   docker build -t zendesk-sso-bridge .
#   docker run --rm -p 8080:8080 zendesk-sso-bridge demo --listen 0.0.0.0:8080 --public-url http://127.0.0.1:8080

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so code changes rebuild only the bridge.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && echo '' > src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src target/release/deps/zendesk_sso_bridge* target/release/zendesk-sso-bridge*
COPY src ./src
COPY templates ./templates
COPY assets ./assets
RUN cargo build --release --locked && strip target/release/zendesk-sso-bridge

# glibc, CA certificates and a nonroot user (65532), nothing else: no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/zendesk-sso-bridge /usr/local/bin/zendesk-sso-bridge
USER 65532:65532
EXPOSE 8080
ENV LISTEN_ADDR=0.0.0.0:8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["/usr/local/bin/zendesk-sso-bridge", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/zendesk-sso-bridge"]
CMD ["serve"]
