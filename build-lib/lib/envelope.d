build-lib/lib/envelope.o: lib/envelope.c lib/envelope.h lib/channel.h \
 lib/proto.h lib/ulid.h lib/util.h
lib/envelope.h:
lib/channel.h:
lib/proto.h:
lib/ulid.h:
lib/util.h:
