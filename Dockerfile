# gridlink: XMPP-Grid (RFC 8600) connector. ONE image for every gridlink
# service of docker-compose.yml (certs, publisher, subscriber, bridge); also
#   docker build -t gridlink . && docker run --rm gridlink --help
# No passwords or keys in the image: pass --password-file (a mounted secret)
# or GRIDLINK_PASSWORD at run time.
#
# Build arguments (defaults: the public images, for users with Docker):
#   RUST_IMAGE      the Rust toolchain image           (rust:1-bookworm)
#   DEBIAN_IMAGE    the runtime base                   (debian:bookworm-slim)
#   GRIDLINK_BUILD  where the binary comes from:
#     source    (default) compiled here, in RUST_IMAGE, with Cargo.toml's
#               `image` profile (release, thin LTO) and without the `lab`
#               feature (the tests' throwaway servers); dependencies are
#               built in their own cached layer, so a source change rebuilds
#               only gridlink itself
#     prebuilt  copied from target/image/gridlink of the build context, built
#               outside with `cargo build --profile image --locked
#               --no-default-features --bin gridlink` on Debian bookworm (the
#               runtime's glibc). For machines whose containers cannot
#               download a toolchain; scripts/test-compose passes a context
#               holding only that binary (.dockerignore keeps target/ out of
#               the normal context).

ARG RUST_IMAGE=rust:1-bookworm
ARG DEBIAN_IMAGE=debian:bookworm-slim
ARG GRIDLINK_BUILD=source

# --- the binary, compiled in the container -----------------------------------
FROM ${RUST_IMAGE} AS build-source
WORKDIR /src
# 1. Dependencies only: the manifest, the lock file and the patched vendored
#    crate, with stub sources for every target Cargo.toml names (the manifest
#    does not load without them). This layer changes only with Cargo.toml,
#    Cargo.lock or vendor/.
COPY Cargo.toml Cargo.lock ./
COPY vendor vendor
RUN mkdir -p src/bin/gridlink-bench benches \
    && for f in src/main.rs src/bin/gridlink-lab.rs src/bin/gridlink-bench/main.rs \
                benches/iodef.rs benches/iodef_profile.rs benches/iodef_diff.rs; do \
           echo 'fn main() {}' > "$f"; \
       done \
    && : > src/lib.rs \
    && cargo build --profile image --locked --no-default-features --bin gridlink \
    && rm -rf src
# 2. gridlink itself. COPY keeps the context's modification times, which can
#    be older than the stub build: touch, or cargo would keep the stub.
COPY src src
RUN find src -name '*.rs' -exec touch {} + \
    && cargo build --profile image --locked --no-default-features --bin gridlink \
    && install -m 0755 target/image/gridlink /usr/local/bin/gridlink

# --- the binary, built outside (GRIDLINK_BUILD=prebuilt) ---------------------
FROM ${DEBIAN_IMAGE} AS build-prebuilt
COPY target/image/gridlink /usr/local/bin/gridlink
RUN chmod 0755 /usr/local/bin/gridlink

FROM build-${GRIDLINK_BUILD} AS binary

# --- the image ---------------------------------------------------------------
FROM ${DEBIAN_IMAGE}
# ca-certificates: the system roots (and openssl, which the compose `certs`
# service uses to make the lab CA).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# Non-root; its home is the state directory (a volume in docker-compose.yml,
# created here so that a new named volume inherits the ownership).
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/gridlink --create-home \
        --shell /usr/sbin/nologin gridlink
COPY --from=binary /usr/local/bin/gridlink /usr/local/bin/gridlink
USER gridlink
WORKDIR /var/lib/gridlink
ENV GRIDLINK_STATE_DIR=/var/lib/gridlink
ENTRYPOINT ["gridlink"]
CMD ["--help"]
