build-lib/lib/channel.o: lib/channel.c lib/channel.h lib/event.h \
 lib/log.h lib/proto.h lib/util.h
lib/channel.h:
lib/event.h:
lib/log.h:
lib/proto.h:
lib/util.h:
