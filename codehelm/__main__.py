from codehelm.cli import main

main()
