"""The fast replay behind `caseflow rebuild`: batch decode, partitions folded in parallel processes, shares reduced."""
