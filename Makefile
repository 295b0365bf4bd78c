# The same two commands as the README: `make setup` runs ./setup.sh, `make test` ./test.sh.
.PHONY: setup test

setup:
	./setup.sh

test:
	./test.sh
