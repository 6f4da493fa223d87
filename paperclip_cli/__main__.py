from paperclip_cli.main import main

main()
