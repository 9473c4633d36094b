#include <stdio.h>

int main(void)
{
    puts("demo ok");
    return 0;
}
