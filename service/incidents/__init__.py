"""Safety incidents (安全事故) schools report, and the vetoes (一票否决) they and inspections trigger."""
