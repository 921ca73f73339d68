from fulfil.cli import main

main()
