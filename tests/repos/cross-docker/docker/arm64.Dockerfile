FROM --platform=$BUILDPLATFORM golang:1.22-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
    go build -trimpath -o /out/agent ./cmd/agent

FROM --platform=linux/arm64 gcr.io/distroless/static-debian12
COPY --from=build /out/agent /agent
ENTRYPOINT ["/agent"]
