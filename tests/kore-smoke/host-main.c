/*
 * host-main.c - the host (glibc, ASan/UBSan) libkore.a renames Kore's
 * main() to kore_main() so unit tests can bring their own; the host build
 * of the smoke app gets it back from here.
 */

int	kore_main(int, char *[]);
int	main(int, char *[]);

int
main(int argc, char *argv[])
{
	return (kore_main(argc, argv));
}
