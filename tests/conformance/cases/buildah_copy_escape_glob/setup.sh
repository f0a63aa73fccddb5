mkdir -p 'app/[xyz]/[abc]' 'app/n?pe' app/nope 'app/st*uv' app/strauv
printf xyz > 'app/[xyz]/file.txt'; printf abc > 'app/[xyz]/[abc]/file.txt'
printf qmark > 'app/n?pe/file.txt'; printf nope > app/nope/file.txt
printf star > 'app/st*uv/file.txt'; printf strauv > app/strauv/file.txt
