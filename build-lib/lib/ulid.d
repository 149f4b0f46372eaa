build-lib/lib/ulid.o: lib/ulid.c lib/log.h lib/ulid.h
lib/log.h:
lib/ulid.h:
