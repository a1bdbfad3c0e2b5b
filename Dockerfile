# depot in a container: a static binary on distroless, run as a non-root
# user, with its data directory as a volume.
#
#   docker build -t depot --build-arg VERSION=1.0.0 --build-arg COMMIT=$(git rev-parse HEAD) .
#   docker run -d -p 8080:8080 -v depot-data:/data -e DEPOT_ADMIN_PASSWORD=change-me depot
#
# The server needs no git binary: it speaks the protocol and reads and
# writes repositories itself. Hooks (--hooks) run the repositories' own
# scripts, which this image has no shell for.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/depot ./cmd/depot \
 && mkdir -m 0700 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/depot /usr/local/bin/depot
# The data directory belongs to the image's non-root user (65532).
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV DEPOT_DATA=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/depot"]
CMD ["serve", "--listen", ":8080", "--data", "/data"]
