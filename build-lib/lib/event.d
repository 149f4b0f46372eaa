build-lib/lib/event.o: lib/event.c lib/event.h lib/log.h lib/util.h
lib/event.h:
lib/log.h:
lib/util.h:
