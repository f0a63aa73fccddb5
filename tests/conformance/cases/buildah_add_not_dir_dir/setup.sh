mkdir new-directory && printf 'in\n' > new-directory/inside && tar --owner=0 --group=0 -cf test.tar new-directory && rm -r new-directory
