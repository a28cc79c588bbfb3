"""The bureau's cockpit (驾驶舱): the first screen of bureau roles and inspectors, and the boards
(看板) where what is late, overdue, vetoed or waiting is listed and acted on."""
