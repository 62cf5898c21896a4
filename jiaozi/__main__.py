from jiaozi.cli import main

main()
