from paperclip.cli import main

main()
