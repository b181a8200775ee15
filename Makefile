# MySehat gateway. `make run` installs what is missing, builds a release binary and serves on
# :8000 with data in ./data; `make test` runs the whole test suite (one debug build).

PORT ?= 8000
DATA_DIR ?= ./data

.PHONY: run build deps test check bench clean

deps:
	@./scripts/install-deps.sh

build: deps
	swift build -c release --product mysehat

run: build
	mkdir -p $(DATA_DIR)
	DATA_DIR=$(DATA_DIR) PORT=$(PORT) ./.build/release/mysehat serve --config .

test: deps
	swift build --build-tests
	swift test --skip-build

check: build
	./.build/release/mysehat check --config .

bench: build
	./bench/run.sh

clean:
	rm -rf .build
