# pubduel in an image, for agents on Kubernetes (deploy/kubernetes/) and runs from a pod.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/pubduel

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/pubduel /usr/local/bin/pubduel
COPY profiles /profiles
ENTRYPOINT ["pubduel"]
CMD ["--help"]
