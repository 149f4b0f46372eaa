build-lib/lib/lineio.o: lib/lineio.c lib/lineio.h lib/log.h lib/util.h
lib/lineio.h:
lib/log.h:
lib/util.h:
