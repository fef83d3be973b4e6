# gridlink: XMPP-Grid (RFC 8600) connector. Used by docker-compose.yml; also
#   docker build -t gridlink . && docker run --rm gridlink --help
# No passwords or keys in the image: pass --password-file (a mounted secret)
# or GRIDLINK_PASSWORD at run time.

FROM rust:1-bookworm AS build
WORKDIR /src
# The whole (dockerignored) tree: Cargo.toml names targets (benches, tests)
# that must exist for the manifest to load.
COPY . .
# --locked: build exactly the dependency versions in Cargo.lock.
RUN cargo build --release --locked --bin gridlink \
    && install -m 0755 target/release/gridlink /usr/local/bin/gridlink

FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# Non-root; its home is the state directory (a volume in docker-compose.yml,
# created here so that a new named volume inherits the ownership).
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/gridlink --create-home \
        --shell /usr/sbin/nologin gridlink
COPY --from=build /usr/local/bin/gridlink /usr/local/bin/gridlink
USER gridlink
WORKDIR /var/lib/gridlink
ENV GRIDLINK_STATE_DIR=/var/lib/gridlink
ENTRYPOINT ["gridlink"]
CMD ["--help"]
