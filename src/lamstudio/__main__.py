from lamstudio.cli import main

main()
