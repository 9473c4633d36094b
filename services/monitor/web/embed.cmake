# Turns the page into a C array (cmake -P, from services/monitor/web.cmake):
#   -DIN=index.html -DOUT=web_page.c
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n" body "${body}")
file(WRITE "${OUT}" "/* generated from ${IN}: do not edit */\n"
  "const unsigned char web_page[] = {\n${body}0x00};\n"
  "const unsigned long web_page_len = ${len};\n")
