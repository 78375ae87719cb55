import CairnCLI

await CairnMain.main()
