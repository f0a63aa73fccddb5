#include <stdio.h>
int main(void) {
  printf("hello from a static binary\n");
  return 0;
}
