build-libsan/lib/util.o: lib/util.c lib/log.h lib/util.h
lib/log.h:
lib/util.h:
