# Builds the agent for the Windows hosts and packages it with the Linux sidecar image.
FROM golang:1.22-bookworm AS build
WORKDIR /src
COPY . .
ENV CGO_ENABLED=0 GOOS=windows GOARCH=amd64
RUN go build -o /out/agent.exe ./cmd/agent

FROM debian:bookworm-slim
COPY --from=build /out/agent.exe /opt/agent/agent.exe
CMD ["/opt/agent/agent.exe"]
