export default {
  id: '0360-modems-pin-rejected',
  sql: `
-- 1 once the SIM refused the PIN configured now (a SIM allows three tries before it wants its PUK): the driver
-- does not enter it again, restarts included, until an operator sets the PIN again (which resets this).
ALTER TABLE modems ADD COLUMN pin_rejected INTEGER NOT NULL DEFAULT 0 CHECK (pin_rejected IN (0, 1));
`,
}
