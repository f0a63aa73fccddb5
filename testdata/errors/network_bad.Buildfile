FROM alpine
RUN --network=nonee make
