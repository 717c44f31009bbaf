# Multi-stage build of the palisade server. The runtime image holds only the binary, the
# configuration defaults, CA roots and a non-root user.
FROM rust:1.85-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin palisade

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/palisade --create-home palisade
WORKDIR /var/lib/palisade
COPY --from=build /src/target/release/palisade /usr/local/bin/palisade
COPY config /etc/palisade/config
ENV PALISADE_ENVIRONMENT=production \
    PALISADE__DATA_DIR=/var/lib/palisade \
    PALISADE__SECRETS__KEY_FILE=/var/lib/palisade/secret.key \
    PALISADE__DATABASE__EMBEDDED_FALLBACK=false
USER palisade
EXPOSE 8080
# config/ is read relative to the working directory; link the packaged one in.
RUN ln -s /etc/palisade/config /var/lib/palisade/config
HEALTHCHECK --interval=30s --timeout=5s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["palisade"]
CMD ["serve"]
