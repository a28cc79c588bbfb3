/* Staff evaluation grid (service/templates/evaluations/grid.html): fill-down and a live count, with
   Alpine.js. An enhancement only - without JavaScript the grid posts exactly the same form. */
window.evaluationGrid = function () {
  return {
    filled: 0,
    cells(code) {
      return Array.from(this.$root.querySelectorAll('input[data-col="' + code + '"]'));
    },
    // Copy the first row's value of a column into the column's empty cells (typed values stay).
    fillDown(code) {
      const cells = this.cells(code);
      if (!cells.length) return;
      const first = cells[0].value.trim();
      if (!first) {
        cells[0].focus();
        return;
      }
      cells.slice(1).forEach((cell) => {
        if (!cell.value.trim()) cell.value = first;
      });
      this.count();
    },
    // People whose every cell is filled in (or who are evaluated and not editable here).
    count() {
      let n = 0;
      this.$root.querySelectorAll("tr[data-person]").forEach((row) => {
        const inputs = Array.from(row.querySelectorAll("input[data-col]"));
        if (row.hasAttribute("data-complete") || (inputs.length && inputs.every((c) => c.value.trim()))) n++;
      });
      this.filled = n;
    },
  };
};
