"""The data file blob.bin is written by the test fixture before the build."""
