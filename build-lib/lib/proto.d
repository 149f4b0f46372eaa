build-lib/lib/proto.o: lib/proto.c lib/proto.h
lib/proto.h:
